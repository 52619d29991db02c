"""
The courses routes: list the courses and their exercises.
"""

from __future__ import annotations

import httpx
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from .api_client import APIClient
from .users import Owner

COURSES_URL = "/api/v1/courses"
EXERCISES_URL = "/api/v1/exercises"


class Course(BaseModel):
    """A course."""

    id: int
    title: str


class GetCoursesResponse(BaseModel):
    """The courses, and whom they were listed for."""

    courses: list[Course]
    user: Owner


class Exercise(BaseModel):
    """An exercise of a course."""

    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True)

    id: int
    course_id: int
    title: str


class GetExercisesResponse(BaseModel):
    """The exercises, and whom they were listed for."""

    exercises: list[Exercise]
    user: Owner


class CoursesClient(APIClient):
    """The client of the courses route, which needs a token."""

    def get_courses_api(self) -> httpx.Response:
        """List the courses, and return the response whatever its status."""
        return self.get(COURSES_URL)

    def get_courses(self) -> GetCoursesResponse:
        """
        List the courses.

        Raises:
            httpx.HTTPStatusError: If the API refused the request.
        """
        response = self.get_courses_api().raise_for_status()
        return GetCoursesResponse.model_validate_json(response.content)


class ExercisesClient(APIClient):
    """The client of the exercises route, which needs a token."""

    def get_exercises_api(self) -> httpx.Response:
        """List the exercises, and return the response whatever its status."""
        return self.get(EXERCISES_URL)

    def get_exercises(self) -> GetExercisesResponse:
        """
        List the exercises.

        Raises:
            httpx.HTTPStatusError: If the API refused the request.
        """
        response = self.get_exercises_api().raise_for_status()
        return GetExercisesResponse.model_validate_json(response.content)
