"""Pictures and probes of trained policies: energy landscapes, training curves, experiment plots."""
