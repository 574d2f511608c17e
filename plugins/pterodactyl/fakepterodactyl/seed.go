package fakepterodactyl

import (
	"strings"

	pt "github.com/ezscale/platform/plugins/pterodactyl/pterodactylapi"
)

func (f *Fake) seed(scale int) {
	now := f.stamp()
	ext := "admin"
	f.users = append(f.users, &pt.User{ID: 1, ExternalID: &ext, UUID: newUUID(), Username: "admin", Email: "admin@example.com",
		FirstName: "Panel", LastName: "Admin", Language: "en", RootAdmin: true, CreatedAt: now, UpdatedAt: now})
	f.nextUser = 2

	for i, n := range []struct {
		name, fqdn, ip string
		location       int64
		memory, disk   int64
		ports          int
	}{
		{"node-eu-1", "eu1.nodes.example.com", "203.0.113.10", 1, 32768, 512000, 20},
		{"node-us-1", "us1.nodes.example.com", "203.0.113.20", 2, 16384, 256000, 10},
	} {
		id := int64(i + 1)
		f.nodes = append(f.nodes, &pt.Node{ID: id, UUID: newUUID(), Public: true, Name: n.name, LocationID: n.location,
			FQDN: n.fqdn, Scheme: "https", Memory: n.memory * int64(scale), Disk: n.disk * int64(scale), UploadSize: 100,
			DaemonListen: 8080, DaemonSFTP: 2022, DaemonBase: "/var/lib/pterodactyl/volumes", CreatedAt: now, UpdatedAt: now})
		for p := range n.ports * scale {
			f.allocations = append(f.allocations, &allocation{
				Allocation: pt.Allocation{ID: int64(len(f.allocations) + 1), IP: n.ip, Port: 25565 + p}, node: id})
		}
	}

	f.nests = []*pt.Nest{
		{ID: 1, UUID: newUUID(), Author: "support@pterodactyl.io", Name: "Minecraft", Description: "Minecraft - the classic game from Mojang.", CreatedAt: now, UpdatedAt: now},
		{ID: 2, UUID: newUUID(), Author: "support@pterodactyl.io", Name: "Voice Servers", Description: "Voice servers.", CreatedAt: now, UpdatedAt: now},
	}
	variable := func(eggID, id int64, name, env, def, rules string) pt.EggVariable {
		return pt.EggVariable{ID: id, EggID: eggID, Name: name, EnvVariable: env, DefaultValue: def, UserViewable: true,
			UserEditable: true, Rules: rules, CreatedAt: now, UpdatedAt: now}
	}
	mk := func(id, nest int64, name, image, startup string, vars ...pt.EggVariable) *egg {
		return &egg{Egg: pt.Egg{ID: id, UUID: newUUID(), Name: name, Nest: nest, Author: "support@pterodactyl.io",
			DockerImage: image, DockerImages: map[string]string{name: image}, Startup: startup, CreatedAt: now, UpdatedAt: now}, variables: vars}
	}
	java := "java -Xms128M -Xmx{{SERVER_MEMORY}}M -jar {{SERVER_JARFILE}}"
	f.eggs = []*egg{
		mk(1, 1, "Vanilla Minecraft", "ghcr.io/pterodactyl/yolks:java_17", java,
			variable(1, 1, "Server Jar File", "SERVER_JARFILE", "server.jar", `required|regex:/^([\w\d._-]+)(\.jar)$/`),
			variable(1, 2, "Server Version", "VANILLA_VERSION", "latest", "required|string|between:3,15")),
		mk(2, 1, "Paper", "ghcr.io/pterodactyl/yolks:java_17", java,
			variable(2, 3, "Minecraft Version", "MINECRAFT_VERSION", "latest", "nullable|string|max:20"),
			variable(2, 4, "Server Jar File", "SERVER_JARFILE", "server.jar", `required|regex:/^([\w\d._-]+)(\.jar)$/`),
			variable(2, 5, "Build Number", "BUILD_NUMBER", "latest", "required|string|max:20")),
		mk(3, 2, "Teamspeak3 Server", "ghcr.io/pterodactyl/yolks:debian", "./ts3server default_voice_port={{SERVER_PORT}}",
			variable(3, 6, "Server Version", "TS_VERSION", "latest", "required|string|max:6")),
	}
	f.nextServer = 1
}

func (f *Fake) userByID(id int64) *pt.User {
	for _, u := range f.users {
		if u.ID == id {
			return u
		}
	}
	return nil
}

func (f *Fake) serverByID(id int64) *serverState {
	for _, s := range f.servers {
		if s.ID == id {
			return s
		}
	}
	return nil
}

// serverByRef finds a server by its 8-character identifier or full uuid, as
// the Client API accepts both.
func (f *Fake) serverByRef(ref string) *serverState {
	for _, s := range f.servers {
		if s.Identifier == ref || s.UUID == ref {
			return s
		}
	}
	return nil
}

func (f *Fake) nodeByID(id int64) *pt.Node {
	for _, n := range f.nodes {
		if n.ID == id {
			return n
		}
	}
	return nil
}

func (f *Fake) eggByID(id int64) *egg {
	for _, e := range f.eggs {
		if e.ID == id {
			return e
		}
	}
	return nil
}

func (f *Fake) allocationByID(id int64) *allocation {
	for _, a := range f.allocations {
		if a.ID == id {
			return a
		}
	}
	return nil
}

// nodeUsage sums the memory and disk limits of a node's servers.
func (f *Fake) nodeUsage(nodeID int64) (memory, disk int64) {
	for _, s := range f.servers {
		if s.Node == nodeID {
			memory += s.Limits.Memory
			disk += s.Limits.Disk
		}
	}
	return memory, disk
}

// nodeView is a node with its allocated resources filled in.
func (f *Fake) nodeView(n *pt.Node) pt.Node {
	out := *n
	out.AllocatedResources.Memory, out.AllocatedResources.Disk = f.nodeUsage(n.ID)
	return out
}

// fits reports whether a node has room for memory and disk, honouring its
// overallocation percentages (-1 = unlimited).
func (f *Fake) fits(n *pt.Node, memory, disk int64) bool {
	usedMem, usedDisk := f.nodeUsage(n.ID)
	limit := func(total, over int64) int64 {
		if over < 0 {
			return 1 << 62
		}
		return total * (100 + over) / 100
	}
	return usedMem+memory <= limit(n.Memory, n.MemoryOverallocate) && usedDisk+disk <= limit(n.Disk, n.DiskOverallocate)
}

func (a *allocation) view() pt.Allocation {
	out := a.Allocation
	out.Assigned = a.serverID != 0
	return out
}

func (e *egg) view(withVariables bool) pt.Egg {
	out := e.Egg
	if withVariables {
		l := &pt.List[pt.EggVariable]{Object: "list"}
		for _, v := range e.variables {
			l.Data = append(l.Data, pt.Item[pt.EggVariable]{Object: "egg_variable", Attributes: v})
		}
		out.Relationships = &struct {
			Variables *pt.List[pt.EggVariable] `json:"variables,omitempty"`
		}{l}
	}
	return out
}

func variableRequired(v pt.EggVariable) bool {
	for _, r := range splitRules(v.Rules) {
		if r == "required" {
			return true
		}
	}
	return false
}

// splitRules splits a Laravel rule string, keeping regex patterns (which
// may contain "|") whole.
func splitRules(rules string) []string {
	var out []string
	for rules != "" {
		if rest, ok := strings.CutPrefix(rules, "regex:"); ok {
			out = append(out, "regex:"+rest)
			break
		}
		head, tail, _ := strings.Cut(rules, "|")
		out = append(out, head)
		rules = tail
	}
	return out
}
