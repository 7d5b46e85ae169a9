-- Sends each request of a repository to the Layover node that owns it, so that uploads, manifest
-- pushes, tag reads and deletes are applied where they arrive: no node forwards them.
--
-- Layover names a repository's owner by rendezvous hashing (Sources/LayoverFleet/Rendezvous.swift):
-- among the members, the one whose first 8 bytes of SHA-256(member URL, NUL, "repository:" +
-- upstream + "/" + repository), read as a big-endian unsigned integer, are largest (ties: the
-- smaller URL). This computes the same over the backend's servers that are up, taking each
-- server's member URL as http://<its address>: each node must advertise exactly that
-- (`--advertise http://10.0.0.1:5000` for `server layover-0 10.0.0.1:5000`).
--
-- Use (deploy/haproxy/haproxy.cfg):
--   global:   lua-load /etc/haproxy/layover-owner.lua
--   backend:  http-request lua.layover_owner <upstreams> <default> <docker-hub>
--             use-server layover-0 if { var(txn.layover_owner) -m str layover-0 }   (one per server)
-- <upstreams>: the configured upstream names, comma-separated (the path prefixes Layover knows);
-- <default>: the default upstream for names without a prefix, or "-"; <docker-hub>: the name of
-- the Docker Hub upstream (its one-component names get "library/"), or "-".
-- A request whose repository cannot be named (not a /v2/<name>/... path, an unknown prefix, an
-- `ns` that is not an upstream's name) sets nothing and is balanced by the backend's hash: Layover
-- forwards what another node must apply, so that is still correct, only one hop longer.

local markers = { "/manifests/", "/blobs/", "/tags/", "/referrers/" }

local function split(list)
    local set = {}
    for name in string.gmatch(list or "", "[^,]+") do set[name] = true end
    return set
end

-- The repository part of a /v2/ path: up to the leftmost marker.
local function name_of(path)
    if string.sub(path, 1, 4) ~= "/v2/" then return nil end
    local cut
    for _, marker in ipairs(markers) do
        local at = string.find(path, marker, 5, true)
        if at and (not cut or at < cut) then cut = at end
    end
    if not cut or cut <= 5 then return nil end
    return string.sub(path, 5, cut - 1)
end

-- Layover's UpstreamDirectory.resolve, for what HAProxy can know: "repository:<upstream>/<repo>".
local function key_of(name, ns, upstreams, default, hub)
    local upstream, repository
    if ns and ns ~= "" then
        if not upstreams[ns] then return nil end
        upstream, repository = ns, name
    else
        local slash = string.find(name, "/", 1, true)
        local first = slash and string.sub(name, 1, slash - 1) or name
        if slash and upstreams[first] then
            upstream, repository = first, string.sub(name, slash + 1)
        elseif string.find(first, "[.:]") or first == "localhost" or default == "-" then
            return nil
        else
            upstream, repository = default, name
        end
    end
    if upstream == hub and not string.find(repository, "/", 1, true) then repository = "library/" .. repository end
    return "repository:" .. upstream .. "/" .. repository
end

core.register_action("layover_owner", { "http-req" }, function(txn, upstream_list, default, hub)
    local name = name_of(txn.sf:path())
    if not name then return end
    local key = key_of(name, txn.sf:url_param("ns"), split(upstream_list), default, hub)
    if not key then return end
    local backend = core.backends[txn.sf:be_name()]
    if not backend then return end
    local best, best_weight, best_url
    for server_name, server in pairs(backend.servers) do
        local status = server:get_stats()["status"] or ""
        if string.sub(status, 1, 2) == "UP" or status == "no check" then
            local url = "http://" .. server:get_addr()
            local weight = string.unpack(">I8", txn.c:sha2(url .. "\0" .. key, 256))
            -- Unsigned comparison: Lua's integers are signed, Layover's weights are UInt64.
            if not best or math.ult(best_weight, weight) or (weight == best_weight and url < best_url) then
                best, best_weight, best_url = server_name, weight, url
            end
        end
    end
    if best then txn:set_var("txn.layover_owner", best) end
end, 3)
