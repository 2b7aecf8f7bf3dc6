"""Offline evaluation: the paper's tables for our generator, on held-out demo products.

For each category and λ: mean set diversity D, sentiment, readability, CTA rate, predicted CTR
and CVR, and the brand-compliance rate of raw samples, next to the demo catalog's control copy
and the paper's reported numbers; then the creativity-vs-conversion curve and its elbow (kneed).
Products come from the database, or straight from the demo CSV when the database has none.

One module per job: `products` picks the held-out products (database or CSV), `sweep` runs the
pipeline over them at each λ and aggregates the table, `report` prints it and writes the JSON
and HTML files, `compare` runs the base model and a fine-tuned adapter side by side.
"""
