"""Podlaski & Machens (2020): biological credit assignment through dynamic inversion."""
