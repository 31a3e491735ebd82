"""Bengio et al. (2015, 2017): STDP as gradient descent, and its rate form as equilibrium propagation in a nudged network."""
