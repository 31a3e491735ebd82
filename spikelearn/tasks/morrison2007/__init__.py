"""Morrison, Aertsen & Diesmann (2007): STDP in balanced random networks."""
