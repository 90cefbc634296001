import json, time, urllib.request, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
key = Ed25519PrivateKey.from_private_bytes(bytes([0x11]*32))
url = sys.argv[1]; guild = sys.argv[2]
nid = [int(time.time())*1000]
def send(typed):
    nid[0] += 1
    body = {"id": str(nid[0]), "application_id": "1", "type": 4, "token": "t", "version": 1, "guild_id": guild,
      "channel_id": "7001", "locale": "en-US", "entitlements": [], "attachment_size_limit": 10485760, "app_permissions": "0", "context": 0,
      "member": {"user": {"id": "1", "username": "rep1", "discriminator": "0", "global_name": None, "avatar": None},
        "roles": [], "joined_at": "2026-01-01T00:00:00.000000+00:00", "deaf": False, "mute": False, "flags": 0, "pending": False, "permissions": "0", "nick": None},
      "data": {"id": "5001", "name": "log", "type": 1, "options": [{"name": "deal", "type": 3, "value": typed, "focused": True}]}}
    raw = json.dumps(body).encode(); ts = str(int(time.time()))
    sig = key.sign(ts.encode() + raw).hex()
    req = urllib.request.Request(url, data=raw, headers={"content-type": "application/json", "x-signature-ed25519": sig, "x-signature-timestamp": ts})
    t = time.perf_counter(); r = urllib.request.urlopen(req).read(); return (time.perf_counter()-t)*1000, len(json.loads(r)["data"]["choices"])
for typed in ["", "4", "123", "acme", "account 7", "renewal", "zzz"]:
    times = sorted(send(typed)[0] for _ in range(15))
    print(repr(typed), "median %.1f ms, max %.1f ms, choices %d" % (times[7], times[-1], send(typed)[1]))
