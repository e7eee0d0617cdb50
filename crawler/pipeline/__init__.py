"""The crawl, one stage per module: seeds → frontier → fetch → interpret → snapshot."""
