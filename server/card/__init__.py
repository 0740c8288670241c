"""The digital membership card (デジタル組合員証) and the offline page."""
