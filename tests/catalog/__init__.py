"""Tests of furima.catalog (a package, so test module names never clash with other suites)."""
