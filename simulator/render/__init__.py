"""Response bodies in the shapes of the real platforms and bridges (reference: docs/simulator.md)."""
