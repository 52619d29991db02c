"""
The courses and exercises routes, through clients built by the factories.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from autotests.clients.authentication import AuthenticationUser
from autotests.clients.courses import CoursesClient, ExercisesClient
from autotests.clients.factories import (
    get_courses_client,
    get_exercises_client,
    get_files_client,
)
from pydantic import SecretStr

from httpx_cached_auth import LoginError

LoginCount = Callable[[AuthenticationUser], int]


def test_get_courses_lists_the_courses(
    courses_client: CoursesClient, exercises_client: ExercisesClient
) -> None:
    """A signed-in courses client lists the courses."""
    response = courses_client.get_courses()

    assert [course.title for course in response.courses] == [
        "HTTP basics",
        "Testing APIs",
    ]
    assert exercises_client.get_exercises_api().status_code == 200


def test_get_exercises_lists_each_exercise_with_its_course(
    courses_client: CoursesClient, exercises_client: ExercisesClient
) -> None:
    """Each exercise names a course that the courses route lists."""
    course_ids = {course.id for course in courses_client.get_courses().courses}

    exercises = exercises_client.get_exercises().exercises

    assert exercises
    assert {exercise.course_id for exercise in exercises} <= course_ids


# Scenario tests are often written as steps, each building the client it needs.


def see_my_files(user: AuthenticationUser) -> list[str]:
    with get_files_client(user) as client:
        return [file.name for file in client.get_files().files]


def see_courses(user: AuthenticationUser) -> list[int]:
    with get_courses_client(user) as client:
        return [course.id for course in client.get_courses().courses]


def see_exercises_of(user: AuthenticationUser, course_id: int) -> list[str]:
    with get_exercises_client(user) as client:
        exercises = client.get_exercises().exercises
        return [item.title for item in exercises if item.course_id == course_id]


def test_scenario_of_steps_logs_in_once(
    user: AuthenticationUser, login_count: LoginCount
) -> None:
    """A scenario whose every step builds its own clients sends one login in all."""
    assert "syllabus.pdf" in see_my_files(user)
    course_ids = see_courses(user)
    titles = [see_exercises_of(user, course_id) for course_id in course_ids]
    assert "notes.txt" in see_my_files(user)

    assert ["Log in once"] in titles
    assert login_count(user) == 1


def test_each_user_logs_in_once(
    make_user: Callable[[], AuthenticationUser], login_count: LoginCount
) -> None:
    """Two users, each with two clients, send one login each."""
    users = [make_user(), make_user()]

    for user in users:
        with get_courses_client(user) as courses, get_exercises_client(user) as exer:
            assert courses.get_courses().user.email == user.email
            assert exer.get_exercises().user.email == user.email

    assert [login_count(user) for user in users] == [1, 1]


def test_wrong_password_fails_as_the_login_does(user: AuthenticationUser) -> None:
    """A refused login is a LoginError caused by the login function's own error."""
    intruder = AuthenticationUser(email=user.email, password=SecretStr("guess-123"))

    with (
        get_courses_client(intruder) as client,
        pytest.raises(LoginError) as error,
    ):
        client.get_courses()

    assert isinstance(error.value.__cause__, httpx.HTTPStatusError)
    assert error.value.response.status_code == 401
    assert "guess-123" not in str(error.value)
    assert "guess-123" not in repr(intruder)
