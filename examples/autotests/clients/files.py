"""
The files routes: list a user's files, upload one.
"""

from __future__ import annotations

import httpx
from pydantic import BaseModel

from .api_client import APIClient
from .users import Owner

FILES_URL = "/api/v1/files"
UPLOAD_URL = "/api/v1/files/upload"


class File(BaseModel):
    """A file of the user's."""

    id: int
    name: str


class GetFilesResponse(BaseModel):
    """The user's files, and whose they are."""

    files: list[File]
    user: Owner


class UploadFileResponse(BaseModel):
    """What the API received of an upload."""

    size: int
    user: Owner


class FilesClient(APIClient):
    """The client of the files routes, which need a token."""

    def get_files_api(self) -> httpx.Response:
        """List the files, and return the response whatever its status."""
        return self.get(FILES_URL)

    def get_files(self) -> GetFilesResponse:
        """
        List the user's files.

        Raises:
            httpx.HTTPStatusError: If the API refused the request.
        """
        response = self.get_files_api().raise_for_status()
        return GetFilesResponse.model_validate_json(response.content)

    def upload_file_api(self, content: bytes) -> httpx.Response:
        """Upload a file, and return the response whatever its status."""
        return self.post(UPLOAD_URL, content=content)

    def upload_file(self, content: bytes) -> UploadFileResponse:
        """
        Upload a file.

        Raises:
            httpx.HTTPStatusError: If the API refused the upload.
        """
        response = self.upload_file_api(content).raise_for_status()
        return UploadFileResponse.model_validate_json(response.content)
