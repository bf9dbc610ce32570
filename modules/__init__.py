"""neuraltypes_modules: typed, reusable modules and example models built on neuraltypes."""
