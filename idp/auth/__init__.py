"""Authentication backends: who is this CIC user, and is that their password."""
