"""site_node package."""
