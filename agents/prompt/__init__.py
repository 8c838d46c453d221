"""Prompt agents (Kiyohara et al., 2025): DSO and its baselines, policies over prompts."""
