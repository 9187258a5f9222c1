"""The demo service provider used by `make run` and the end-to-end tests."""
