"""Networks and the equations that train them: energy nets (MLP, pre-activation ResNet), regression nets,
the normaliser, the losses (one function per equation), and torch helpers (device, optimiser state)."""
