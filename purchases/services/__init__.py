"""Writes on orders. Each module is one part of the order's life; views, admin and jobs call these."""
