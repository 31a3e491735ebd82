"""Benjamin & Kording: adversarial wake/sleep learning of inference, and the surprise signal of an oscillation."""
