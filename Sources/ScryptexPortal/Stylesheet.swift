import ScryptexTenancy

/// A tenant's stylesheet: its palette (``BrandPalette``, every text colour chosen to read) and
/// its own custom properties, then the portal's rules, which use only those properties.
enum Stylesheet {
    static func css(for branding: TenantBranding?) -> String {
        let palette = BrandPalette(branding)
        var properties = [
            ("--primary", palette.primary.description), ("--accent", palette.accent.description),
            ("--background", palette.background.description), ("--text", palette.text.description),
            ("--text-on-primary", palette.textOnPrimary.description),
            ("--text-on-accent", palette.textOnAccent.description), ("--link", palette.link.description),
        ]
        // Only what passes the branding rules, even if something else reached the database.
        for (name, value) in (branding?.cssVariables ?? [:]).sorted(by: { $0.key < $1.key })
        where TenantBranding.isCSSVariableName(name) && TenantBranding.isSafeCSSValue(value)
            && !properties.contains(where: { $0.0 == name })
        {
            properties.append((name, value))
        }
        return ":root {\n" + properties.map { "  \($0.0): \($0.1);\n" }.joined() + "}\n" + rules
    }

    static let rules = """
        * { box-sizing: border-box; }
        body { margin: 0; font-family: var(--font-family, system-ui, -apple-system, "Segoe UI", sans-serif);
               color: var(--text); background: var(--background); line-height: 1.45; }
        a { color: var(--link); }
        a:focus, button:focus, input:focus, select:focus, textarea:focus { outline: 3px solid var(--accent);
               outline-offset: 2px; }
        .skip { position: absolute; left: -999px; }
        .skip:focus { left: 1rem; top: 1rem; background: var(--background); padding: 0.5rem; z-index: 2; }
        header.site { background: var(--primary); color: var(--text-on-primary); padding: 0.75rem 2rem;
               display: flex; align-items: center; gap: 1rem; }
        header.site img { max-height: 2rem; }
        header.site .product { font-weight: 600; font-size: 1.15rem; flex: 1; }
        header.site form { margin: 0; }
        header.site button { background: transparent; color: var(--text-on-primary);
               border: 1px solid var(--text-on-primary); }
        nav.main { border-bottom: 1px solid #D1D5DB; padding: 0 2rem; }
        nav.main ul { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: 1.5rem; }
        nav.main a { display: inline-block; padding: 0.75rem 0; text-decoration: none; }
        nav.main a[aria-current="page"] { font-weight: 600; border-bottom: 3px solid var(--accent); }
        main { max-width: 64rem; margin: 1.5rem auto; padding: 0 2rem; }
        footer.site { max-width: 64rem; margin: 3rem auto 2rem; padding: 0 2rem; font-size: 0.85rem; }
        h1 { font-size: 1.5rem; }
        table { border-collapse: collapse; width: 100%; margin: 1rem 0 2rem; }
        th, td { text-align: left; padding: 0.4rem 0.6rem; border-bottom: 1px solid #D1D5DB; vertical-align: top; }
        td.number, th.number { text-align: right; font-variant-numeric: tabular-nums; }
        form.stacked { display: grid; gap: 0.75rem; max-width: 28rem; margin: 1rem 0 2rem; }
        form.inline { display: inline; }
        label { display: grid; gap: 0.25rem; font-weight: 500; }
        input, select, textarea { font: inherit; padding: 0.45rem 0.5rem; border: 1px solid #6B7280;
               border-radius: var(--radius, 4px); background: #FFFFFF; color: #111827; }
        button { font: inherit; padding: 0.45rem 1rem; border-radius: var(--radius, 4px); cursor: pointer;
               background: var(--primary); color: var(--text-on-primary); border: 1px solid var(--primary); }
        button.danger { background: #B91C1C; color: #FFFFFF; border-color: #B91C1C; }
        .notice { padding: 0.75rem 1rem; border-left: 4px solid var(--accent); background: rgba(0, 0, 0, 0.04); }
        .error { padding: 0.75rem 1rem; border-left: 4px solid #B91C1C; background: #FEF2F2; color: #7F1D1D; }
        .secret { font-family: ui-monospace, monospace; font-size: 1rem; padding: 0.5rem; background: #F3F4F6;
               color: #111827; word-break: break-all; }
        .metrics { display: grid; grid-template-columns: repeat(auto-fill, minmax(12rem, 1fr)); gap: 1rem; }
        .metric { border: 1px solid #D1D5DB; border-radius: var(--radius, 4px); padding: 0.75rem; }
        .metric .value { font-size: 1.35rem; font-weight: 600; font-variant-numeric: tabular-nums; }
        .decision-approved { color: #065F46; } .decision-rejected { color: #991B1B; } .decision-review { color: #92400E; }
        progress { width: 10rem; }
        ul.filters { list-style: none; padding: 0; display: flex; gap: 1rem; }
        svg.chart { width: 100%; height: auto; max-width: 48rem; color: var(--link); }
        figure { margin: 0 0 1.5rem; }
        ul.filters a[aria-current="page"] { font-weight: 600; }
        """
}
