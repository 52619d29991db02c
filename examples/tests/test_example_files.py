"""
The files routes, through clients built by the factories.
"""

from __future__ import annotations

from collections.abc import Callable

from autotests.clients.authentication import AuthenticationUser
from autotests.clients.courses import CoursesClient, ExercisesClient
from autotests.clients.factories import get_courses_client, get_files_client
from autotests.clients.files import FilesClient

from httpx_cached_auth._demo_api import DemoLoginAPI

LoginCount = Callable[[AuthenticationUser], int]


def test_get_files_lists_the_users_files(
    files_client: FilesClient,
    courses_client: CoursesClient,
    exercises_client: ExercisesClient,
    user: AuthenticationUser,
) -> None:
    """Every client of the test answers as its user, and lists that user's files."""
    response = files_client.get_files()
    owners = {
        response.user.email,
        courses_client.get_courses().user.email,
        exercises_client.get_exercises().user.email,
    }

    assert [file.name for file in response.files] == ["syllabus.pdf", "notes.txt"]
    assert owners == {user.email}


def test_upload_file_sends_the_whole_body(
    files_client: FilesClient, exercises_client: ExercisesClient
) -> None:
    """An upload reaches the API in full, signed like any other request."""
    content = b"lecture notes\n" * 100

    response = files_client.upload_file(content)

    assert response.size == len(content)
    assert exercises_client.get_exercises().exercises


def test_three_clients_share_one_login(
    files_client: FilesClient,
    courses_client: CoursesClient,
    exercises_client: ExercisesClient,
    user: AuthenticationUser,
    login_count: LoginCount,
) -> None:
    """Three clients built for one user send one login between them."""
    files_client.get_files()
    courses_client.get_courses()
    exercises_client.get_exercises()
    files_client.get_files()

    assert login_count(user) == 1


def test_equal_user_models_share_one_login(
    user: AuthenticationUser, login_count: LoginCount
) -> None:
    """A user model built anew from the same email and password reuses the token."""
    same_user = AuthenticationUser(email=user.email, password=user.password)
    assert same_user is not user

    with get_files_client(user) as first, get_files_client(same_user) as second:
        first.get_files()
        second.get_files()
    with get_courses_client(AuthenticationUser(**user.model_dump())) as third:
        third.get_courses()

    assert login_count(user) == 1


def test_refused_token_is_replaced_by_one_new_login(
    files_client: FilesClient,
    courses_client: CoursesClient,
    exercises_client: ExercisesClient,
    user: AuthenticationUser,
    api: DemoLoginAPI,
    login_count: LoginCount,
) -> None:
    """When the API stops accepting the token, all clients move to one new login."""
    files_client.get_files()

    api.revoke_access_tokens()
    response = courses_client.get_courses()
    files_client.get_files()
    exercises_client.get_exercises()

    assert response.user.email == user.email
    assert login_count(user) == 2
