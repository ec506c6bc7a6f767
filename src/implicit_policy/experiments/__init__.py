"""Experiments: trials (one run of one method and seed, trained then tested), running many of them (Ray Tune
or in-process), and searches over config fields."""
