# Sourced by the measuring scripts: start the bench mock on $mock_port and
# write a gateway config for $gw_port that sends model `bench` to it, with
# its SQLite ledger under $out. Expects $bin, $out, $mock_port and $gw_port;
# sets $mock to the mock's pid.
"$bin" bench --mock-only --mock-listen 127.0.0.1:$mock_port > "$out/mock.log" 2>&1 &
mock=$!
cat > "$out/switchyard.toml" <<TOML
listen = "127.0.0.1:$gw_port"
auth = "none"
database_url = "sqlite://$out/ledger.db"

[providers.mock-anthropic]
kind = "anthropic"
base_url = "http://127.0.0.1:$mock_port"
api_key = "bench"

[models.bench]
provider = "mock-anthropic"
id = "claude-sonnet-4-5"
TOML
