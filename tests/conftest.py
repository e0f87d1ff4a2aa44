import os

from hypothesis import settings

settings.register_profile("default", deadline=None, print_blob=True)
settings.register_profile("fuzz", deadline=None, print_blob=True, max_examples=300)   # longer local runs
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
