"""Search: filters (people, date, place, camera, folder, media type), CLIP text and image
similarity, and name search over hierarchical person names."""
