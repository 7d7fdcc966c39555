"""Clients: who may ask for tokens, how they prove it, where codes may go, and the APIs tokens may
be for."""
