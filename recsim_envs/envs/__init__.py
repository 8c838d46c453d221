"""Environment families: two-stage, prompt-to-sentence and sequential recommendation."""
