"""Lean entry point: the bridge on a mitmproxy Master with only the addons it needs.

    python scripts/leanproxy.py --mode reverse:http://127.0.0.1:9000 --set bridge_config=FILE \
        --set connection_strategy=lazy [-p 8080] [--listen-host 127.0.0.1] [-q]

Serves like `mitmdump -s addons/bridge.py` with the same options, but mitmdump passes every hook
(request, responseheaders, response, client/server connect, ...) through its ~35 built-in addons,
most of which only look at options the bridge never sets; here the chain is:

    termlog, core, block, disable_h2c, proxyauth, proxyserver, <addons/bridge.py's addons>,
    next_layer, tlsconfig, update_alt_svc, [dumper], errorcheck

in mitmdump's relative order, so the hooks see the same things in the same sequence:
`block` still refuses public clients (block_global), `proxyauth` still guards the interception
(forward proxy) modes and the bridge checks its option, `tlsconfig` is what makes https upstreams
and HTTPS interception work, `update_alt_svc` still rewrites an upstream's Alt-Svc in reverse
mode, `errorcheck` still stops the process on a start-up error (port in use, bad configuration).
The flow log (`dumper`) is added only when it prints something: not with -q or --set flow_detail=0.
Hook dispatch is the same calls in the same order, with the per-event lookup cached (LeanAddonManager).

Not available here (use mitmdump for them): other scripts (-s other than addons/bridge.py),
reading/saving flows (-r/-w), replay, map_remote/map_local/modify_*, anticache/anticomp,
sticky cookies/auth, upstream_auth, DNS mode, the onboarding app. Setting one of their options
is an error rather than being silently ignored. When the bridge starts using another built-in
addon (or its option), add it to LeanMaster below: a missing option fails loudly at start-up.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import logging
import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mitmproxy import addonmanager  # noqa: E402
from mitmproxy import exceptions  # noqa: E402
from mitmproxy import hooks  # noqa: E402
from mitmproxy import master  # noqa: E402
from mitmproxy import options  # noqa: E402
from mitmproxy import optmanager  # noqa: E402
from mitmproxy.addons import block  # noqa: E402
from mitmproxy.addons import core  # noqa: E402
from mitmproxy.addons import disable_h2c  # noqa: E402
from mitmproxy.addons import dumper  # noqa: E402
from mitmproxy.addons import errorcheck  # noqa: E402
from mitmproxy.addons import next_layer  # noqa: E402
from mitmproxy.addons import proxyauth  # noqa: E402
from mitmproxy.addons import proxyserver  # noqa: E402
from mitmproxy.addons import termlog  # noqa: E402
from mitmproxy.addons import tlsconfig  # noqa: E402
from mitmproxy.addons import update_alt_svc  # noqa: E402
from mitmproxy.utils import debug  # noqa: E402

BRIDGE_SCRIPT = ROOT / "addons" / "bridge.py"


def make_parser(opts: options.Options) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="leanproxy", usage="%(prog)s [options]",
        description="The bridge on a lean mitmproxy Master (see the module docstring).")
    p.add_argument("--version", action="store_true", help="show version number and exit")
    p.add_argument("--set", type=str, dest="setoptions", default=[], action="append",
                   metavar="option[=value]", help="Set an option, as with mitmdump (repeatable).")
    p.add_argument("-q", "--quiet", action="store_true", help="Quiet.")
    p.add_argument("-v", "--verbose", action="store_const", const="debug", help="Increase log verbosity.")
    p.add_argument("-s", "--scripts", action="append", default=[], metavar="SCRIPT",
                   help="accepted for mitmdump compatibility: only addons/bridge.py (always loaded)")
    opts.make_parser(p, "mode", short="m")
    opts.make_parser(p, "listen_host", metavar="HOST")
    opts.make_parser(p, "listen_port", metavar="PORT", short="p")
    opts.make_parser(p, "ignore_hosts", metavar="HOST")
    opts.make_parser(p, "allow_hosts", metavar="HOST")
    opts.make_parser(p, "proxyauth", metavar="SPEC")
    opts.make_parser(p, "ssl_insecure", short="k")
    opts.make_parser(p, "certs", metavar="SPEC")
    opts.make_parser(p, "http2")
    return p


def flow_detail_wanted(args: argparse.Namespace) -> int:
    """mitmdump's flow_detail as these arguments set it (the last --set wins; -q/-v override)."""
    detail = 1
    for spec in args.setoptions:
        name, _, value = spec.partition("=")
        if name.strip() == "flow_detail":
            try:
                detail = int(value)
            except ValueError:
                detail = 1  # let the option itself reject the value
    if args.quiet:
        detail = 0
    if args.verbose:
        detail = 2
    return detail


def bridge_addons() -> list[object]:
    from addons import bridge  # the project root is on sys.path (above)

    return list(bridge.addons)


class LeanAddonManager(addonmanager.AddonManager):
    """AddonManager whose async event dispatch looks the hook functions up once per event name.

    mitmproxy's trigger_event walks every addon for every event (a safecall context manager, a
    coroutine, a traversal generator and a getattr per addon), and handle_lifecycle follows each flow
    hook with an `update` event that no addon here implements. Here the same functions are called
    in the same order with the same error handling (an exception is logged as "Addon error" and
    skips the rest of that top-level addon, AddonHalt stops the event, OptionsError propagates);
    only the lookup is cached. The cache is dropped whenever the chain changes."""

    def __init__(self, master: master.Master) -> None:
        super().__init__(master)
        self._hooks: dict[str, list[list]] = {}

    def invalidate(self) -> None:
        self._hooks.clear()

    def register(self, addon):  # type: ignore[no-untyped-def]
        self._hooks.clear()
        return super().register(addon)

    def add(self, *addons) -> None:  # type: ignore[no-untyped-def]
        super().add(*addons)
        self._hooks.clear()

    def remove(self, addon) -> None:  # type: ignore[no-untyped-def]
        self._hooks.clear()
        super().remove(addon)

    def _lookup(self, event: hooks.Hook) -> list[list]:
        groups = []
        for top in self.chain:
            with addonmanager.safecall():  # a non-callable hook attribute is logged, as upstream does
                funcs = [func for _, func in self._iter_hooks(top, event)]
                if funcs:
                    groups.append(funcs)
        self._hooks[event.name] = groups
        return groups

    async def trigger_event(self, event: hooks.Hook) -> None:
        groups = self._hooks.get(event.name)
        if groups is None:
            groups = self._lookup(event)
        if not groups:
            return
        args = event.args()
        for funcs in groups:
            try:
                for func in funcs:
                    res = func(*args)
                    if res is not None and inspect.isawaitable(res):
                        await res
            except exceptions.AddonHalt:
                return
            except exceptions.OptionsError:
                raise
            except Exception as e:
                logging.getLogger(addonmanager.__name__).error(f"Addon error: {e}", exc_info=True)


class LeanMaster(master.Master):
    """Master + the built-in addons the bridge needs, in mitmdump's order; the bridge's own addons
    are added by load_bridge() once the options are set, as mitmdump's script loader does."""

    def __init__(self, opts: options.Options) -> None:
        super().__init__(opts, with_termlog=False)
        opts.changed.disconnect(self.addons._configure_all)
        self.addons = LeanAddonManager(self)
        self._termlog_addon = termlog.TermLog()
        self.addons.add(self._termlog_addon)
        self.bridge: list[object] = []
        self.addons.add(core.Core(), block.Block(), disable_h2c.DisableH2C(), proxyauth.ProxyAuth(),
                        proxyserver.Proxyserver(), next_layer.NextLayer(), tlsconfig.TlsConfig(),
                        update_alt_svc.UpdateAltSvc(), errorcheck.ErrorCheck())

    def add_flow_log(self, wanted: bool) -> None:
        """mitmdump's flow log (dumper), only when it prints something (it has no effect on flows,
        so its place after errorcheck does not matter)."""
        if wanted:
            self.addons.add(dumper.Dumper())
        else:  # accept -q / --set flow_detail=0 like mitmdump does
            self.options.add_option("flow_detail", int, 0, "Flow log detail; the flow log is off in this run.")

    def load_bridge(self) -> None:
        """Register the bridge's addons right after proxyserver (where mitmdump's script loader sits),
        then configure them with every option, as the script loader does for a loaded script."""
        self.bridge = bridge_addons()
        at = self.addons.chain.index(self.addons.get("proxyserver")) + 1
        for addon in self.bridge:
            self.addons.register(addon)
        self.addons.chain[at:at] = self.bridge
        self.addons.invalidate()  # type: ignore[attr-defined]
        for addon in self.bridge:
            self.addons.invoke_addon_sync(addon, hooks.ConfigureHook(set(self.options.keys())))


def check_scripts(scripts: list[str]) -> None:
    for s in scripts:
        if Path(os.path.expanduser(s.strip("'\" "))).resolve() != BRIDGE_SCRIPT:
            raise exceptions.OptionsError(
                f"the lean entry point runs only addons/bridge.py, not {s}; use mitmdump -s for other "
                "scripts")


def process_options(opts: options.Options, args: argparse.Namespace) -> None:
    """As mitmproxy.tools.main.process_options."""
    if args.quiet:
        args.termlog_verbosity = "error"
        args.flow_detail = 0
    if args.verbose:
        args.termlog_verbosity = "debug"
        args.flow_detail = 2
    opts.update(**{k: v for k, v in vars(args).items() if k in opts and v is not None})


async def amain(argv: list[str]) -> int:
    # as mitmproxy.tools.main.run
    logging.getLogger().setLevel(logging.DEBUG)
    for name, level in (("tornado", logging.WARNING), ("asyncio", logging.WARNING),
                        ("hpack", logging.WARNING), ("quic", logging.WARNING)):
        logging.getLogger(name).setLevel(level)
    debug.register_info_dumpers()

    opts = options.Options()
    m = LeanMaster(opts)  # first: the parser offers options of its addons (proxyauth...)
    args = make_parser(opts).parse_args(argv)  # exits 2 on a usage error
    if args.version:
        print(debug.dump_system_info())
        return 0
    try:
        check_scripts(args.scripts)
        args.scripts = None  # not an option here
        m.add_flow_log(flow_detail_wanted(args) > 0)
        opts.set(*args.setoptions, defer=True)
        optmanager.load_paths(opts, os.path.join(opts.confdir, "config.yaml"),
                              os.path.join(opts.confdir, "config.yml"))
        process_options(opts, args)
        m.load_bridge()
        if opts.deferred:
            raise exceptions.OptionsError(
                f"unknown option(s) {', '.join(sorted(opts.deferred))}: the lean entry point has no addon "
                "for them; use mitmdump -s addons/bridge.py")
    except exceptions.OptionsError as e:
        print(f"leanproxy: {e}", file=sys.stderr)
        return 1
    except AttributeError as e:
        if "No such option" not in str(e):
            raise
        print(f"leanproxy: the bridge needs an option of a built-in addon this entry point leaves out "
              f"({e}): add that addon to LeanMaster", file=sys.stderr)
        return 1

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, m.shutdown)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    await m.run()
    return 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(amain(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
