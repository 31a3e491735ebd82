"""Song, Miller & Abbott (2000): competitive Hebbian learning through STDP."""
