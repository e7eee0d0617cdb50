"""How a sink says that a delivery did not happen."""


class DeliveryFailed(Exception):
    """The batch was not delivered; it is tried again later, per the sink's schedule."""


class EndpointGone(DeliveryFailed):
    """The receiver asked never to be called again (410 Gone): the sink is disabled."""
