package billing

// SetPluginsForTest gives billing its plugin host after construction: the
// tests' host serves plugins whose descriptions billing records first, and
// some tests put a host in front of it that fails on purpose.
func (b *Billing) SetPluginsForTest(p PluginHost) { b.plugins = p }
