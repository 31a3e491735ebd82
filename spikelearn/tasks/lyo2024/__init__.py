"""Lyo & Savin (2024): oscillation-gated dendritic sampling of a learned prior and posterior."""
