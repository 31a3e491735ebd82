"""Zhang, Wu, Josić & Doiron (2023): Poisson variability samples the posterior in a ring network."""
