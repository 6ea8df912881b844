"""FIX 4.4 gateway sockets: ``FixAcceptor`` around ``engine.fix``'s sans-IO layers."""

from actors.fix.acceptor import FixAcceptor

__all__ = ["FixAcceptor"]
