"""Loopback emulators of Edusign and the planning systems, for tests, the demo and benchmarks."""
