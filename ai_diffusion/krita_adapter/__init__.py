"""The only package that imports Krita's ``krita`` module.

``plugin`` is the composition root inside Krita (extension, actions, docker); ``document``
reads and writes pixels of Krita documents for the layers above.
"""
