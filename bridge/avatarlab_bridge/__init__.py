"""avatarlab-bridge: WebSocket gateway from browsers to the avatarlab daemon (docs/protocol.md, WebSocket binding).

``from avatarlab_bridge.app import BridgeConfig, create_app``; nothing heavy is imported here, so that
``avatarlab``'s CLI can load the ``bridge`` subcommand cheaply.
"""
