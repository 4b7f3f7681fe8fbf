"""The avatarlab daemon (ZeroMQ ROUTER server), its wire protocol and the Python client."""
