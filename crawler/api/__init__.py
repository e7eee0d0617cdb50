"""The read-only HTTP API (`cds-crawler serve`) and the coverage map page."""
