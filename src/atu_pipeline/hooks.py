"""Project hooks (filled in below)."""


class ProjectHooks:
    pass
