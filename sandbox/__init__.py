"""Spring-network sandbox: masses and springs that learn by equilibrium propagation."""

__version__ = "0.1.0"
