"""Articles, feeds, page metadata and issue files, resolved into an Issue."""
