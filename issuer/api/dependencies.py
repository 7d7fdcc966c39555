"""What an endpoint declares to get the running issuer's objects (`services: Services`)."""

from typing import Annotated

from fastapi import Depends, Request

from issuer.services import IssuerServices


def get_services(request: Request) -> IssuerServices:
    services: IssuerServices = request.app.state.services
    return services


Services = Annotated[IssuerServices, Depends(get_services)]
