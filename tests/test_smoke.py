from tests.conftest import ADMIN
from tests.helpers import put_count, put_office, region_path, today


async def test_put_count_round_trip(client):
    await region_path(client, "73.71.01")
    await put_office(client, "MKS-01", "73.71.01")
    response = await put_count(client, "MKS-01", today(), 12)
    assert response.status_code == 201, response.text
    assert response.json()["version"] == 1
    again = await client.get(f"/api/v1/offices/MKS-01/counts/{today()}", headers=ADMIN)
    assert again.json()["recordings"] == 12
