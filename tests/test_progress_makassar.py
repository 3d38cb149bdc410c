"""The Makassar example of the progress contract, by hand."""

from datetime import date

from tests.conftest import ADMIN
from tests.helpers import put_count, put_office, region_path


async def test_makassar_example_recorded_and_coverage(client):
    await region_path(client, "73.71")
    await put_office(client, "MKS-A", "73.71", opened_on="2019-01-01")
    await put_office(client, "MKS-B", "73.71", opened_on="2019-01-01")
    await put_count(client, "MKS-A", date(2019, 2, 14), 500)  # before the figure: replaced by it
    response = await client.put(
        "/api/v1/regions/73.71/figures/2019-02-14",
        json={"eligible": 981_654, "recorded": 933_549},
        headers=ADMIN,
    )
    assert response.status_code == 201
    await put_count(client, "MKS-A", date(2019, 2, 15), 40)
    await put_count(client, "MKS-B", date(2019, 2, 15), 60)

    body = (
        await client.get("/api/v1/progress/73.71", params={"as_of": "2019-02-15"}, headers=ADMIN)
    ).json()

    assert body["recorded"] == 933_649
    assert body["eligible"] == 981_654
    assert round(body["coverage"], 7) == 0.9510978
    national = (
        await client.get("/api/v1/progress/ID", params={"as_of": "2019-02-15"}, headers=ADMIN)
    ).json()
    assert national["recorded"] == 933_649
    assert national["children"][0]["recorded"] == 933_649
    assert national["children"][0]["eligible"] == 981_654
