"""The standing attack suite, modelled on Keycloak's SamlXMLAttacksTest and the SAML Raider
catalogue: XML attacks (XXE, entity bombs, DEFLATE bombs, comments, parser differentials),
signature attacks (XSW 1-8, stripping, KeyInfo injection, algorithm downgrade), HTTP attacks
against the served STS (smuggling, slow bodies), and a bounded seeded fuzz run. Every case
asserts the refusal; the XML bombs also that it takes under 100 ms."""
