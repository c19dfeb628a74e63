"""Memory-state, call-trace and taint lines decoded by the transformer (kernel lines as printed)."""

from __future__ import annotations

from oomlens.model import Envelope, LogLine, OomEvent
from oomlens.splitter import normalise
from oomlens.transform import build_event

HEADER = "java invoked oom-killer: gfp_mask=0x201da, order=0, oom_score_adj=0"


def _event(*texts: str, first: int = 100) -> OomEvent:
    lines = [
        LogLine(path="t.log", number=first + i, text=normalise(text), envelope=Envelope.BARE)
        for i, text in enumerate(texts)
    ]
    return build_event(lines)


def test_meminfo_counters_3_10_with_per_cpu_lists() -> None:
    event = _event(
        HEADER,
        "Mem-Info:",
        "Node 0 DMA32 per-cpu:",
        "CPU    0: hi:  186, btch:  31 usd:  86",
        "active_anon:405991 inactive_anon:57 isolated_anon:0",
        " active_file:35 inactive_file:69 isolated_file:0",
        " unevictable:0 dirty:0 writeback:0 unstable:0",
        " free:12929 slab_reclaimable:1635 slab_unreclaimable:1919",
        " mapped:34 shmem:70 pagetables:1423 bounce:0",
        " free_cma:0",
    )
    meminfo = event.memory.meminfo
    assert meminfo is not None
    assert meminfo.active_anon_pages == 405991
    assert meminfo.free_pages == 12929
    assert meminfo.free_cma_pages == 0
    assert meminfo.free_pcp_pages is None  # not printed in 3.10
    assert (meminfo.first_line, meminfo.last_line) == (101, 109)
    (pcp,) = event.memory.per_cpu
    assert (pcp.node, pcp.zone, pcp.cpu, pcp.high_pages, pcp.batch_pages, pcp.count_pages) == (
        0,
        "DMA32",
        0,
        186,
        31,
        86,
    )
    assert event.unparsed == ()


def test_unknown_counter_goes_to_extra_and_old_capitalised_key_is_read() -> None:
    event = _event(
        HEADER,
        "Active_anon:211266 active_file:90 inactive_anon:211254",
        "free:10016 slab:4454 mapped:587 pagetables:1885 bounce:0",
    )
    meminfo = event.memory.meminfo
    assert meminfo is not None
    assert meminfo.active_anon_pages == 211266
    assert meminfo.extra == (("slab", 4454),)


def test_node_line_4_9_space_after_thp_colon_and_bare_pages_scanned() -> None:
    event = _event(
        HEADER,
        "Node 0 active_anon:528704kB inactive_anon:46560kB active_file:1181028kB "
        "inactive_file:1557400kB unevictable:0kB isolated(anon):0kB isolated(file):80kB "
        "mapped:146896kB dirty:15824kB writeback:0kB shmem:0kB shmem_thp: 0kB "
        "shmem_pmdmapped: 172032kB anon_thp: 47412kB writeback_tmp:0kB unstable:0kB "
        "pages_scanned:15066965 all_unreclaimable? yes",
    )
    (node,) = event.memory.nodes
    assert node.node == 0
    assert node.isolated_file_kib == 80
    assert node.shmem_thp_kib == 0
    assert node.shmem_pmdmapped_kib == 172032
    assert node.anon_thp_kib == 47412
    assert node.pages_scanned == 15066965
    assert node.all_unreclaimable is True
    assert node.line == 101


def test_node_line_6_19_balloon_after_all_unreclaimable() -> None:
    event = _event(
        HEADER,
        "Node 0 active_anon:1243632kB inactive_anon:0kB shmem_thp:0kB kernel_stack:9568kB "
        "pagetables:11804kB sec_pagetables:3660kB all_unreclaimable? no Balloon:0kB",
    )
    (node,) = event.memory.nodes
    assert node.balloon_kib == 0
    assert node.all_unreclaimable is False
    assert node.sec_pagetables_kib == 3660


def test_zone_line_uppercase_kb_lowmem_reserve_and_cut_value() -> None:
    event = _event(
        HEADER,
        "Node 0 DMA32 free:77516kB boost:17620kB min:25456kB low:27412kB high:29368kB "
        "reserved_highatomic:2048KB active_anon:8568kB zspages:0kB present:18633",
        "lowmem_reserve[]: 0 0 12962 12962 12962",
    )
    (zone,) = event.memory.zones
    assert (zone.node, zone.name) == (0, "DMA32")
    assert (zone.free_kib, zone.boost_kib, zone.min_kib, zone.low_kib, zone.high_kib) == (
        77516,
        17620,
        25456,
        27412,
        29368,
    )
    assert zone.reserved_highatomic_kib == 2048
    assert zone.present_kib is None  # cut before its unit: never read as a smaller number
    assert zone.lowmem_reserve_pages == (0, 0, 12962, 12962, 12962)
    assert zone.lowmem_reserve_complete is True


def test_zone_line_2_6_32_pages_scanned_and_non_numa() -> None:
    event = _event(
        HEADER,
        "Normal free:2044kB min:2036kB low:2544kB high:3052kB active_anon:225364kB "
        "isolated(anon):0kB present:260096kB writeback_tmp:0kB pages_scanned:0 "
        "all_unreclaimable? yes",
        "lowmem_reserve[]: 0 0",
    )
    (zone,) = event.memory.zones
    assert zone.node is None
    assert zone.isolated_anon_kib == 0
    assert zone.pages_scanned == 0
    assert zone.all_unreclaimable is True
    assert zone.lowmem_reserve_pages == (0, 0)


def test_short_lowmem_reserve_line_is_marked_cut() -> None:
    event = _event(
        HEADER,
        "Node 0 DMA free:15900kB min:132kB low:164kB high:196kB",
        "lowmem_reserve[]: 0 2801 7792 7792",
        "Node 0 DMA32 free:43500kB min:24252kB low:30312kB high:36376kB",
        "lowmem_reserve[]: 0 0 49",
    )
    first, second = event.memory.zones
    assert first.lowmem_reserve_complete is True
    assert second.lowmem_reserve_complete is False
    assert second.lowmem_reserve_pages == (0, 0)  # the last number may have lost digits


def test_lowmem_reserve_cut_inside_its_last_number_is_marked_cut() -> None:
    event = _event(
        HEADER,
        "Node 0 DMA free:15900kB min:132kB low:164kB high:196kB",
        "lowmem_reserve[]: 0 2801 7792 77",
    )
    (zone,) = event.memory.zones
    assert zone.lowmem_reserve_complete is False
    assert zone.lowmem_reserve_pages == (0, 2801, 7792)


def test_buddy_lines_totals_types_and_page_size() -> None:
    event = _event(
        HEADER,
        "Node 0 DMA: 1*4kB (U) 1*8kB (U) 0*32kB 3*4096kB (M) = 15900kB",
        "Normal: 5*4kB (UMI) 5*8kB (UEI) 10*16kB (UMEI) 10*3",
        "Node 0 DMA32: 9173*4kB (UME) 5*32kB (U) 0*4096kB =77452kB",
    )
    dma, normal, dma32 = event.memory.free_areas
    assert dma.total_kib == 15900
    assert [(b.block_kib, b.count, b.migrate_types) for b in dma.buckets] == [
        (4, 1, "U"),
        (8, 1, "U"),
        (32, 0, None),
        (4096, 3, "M"),
    ]
    assert normal.node is None
    assert normal.total_kib is None  # cut before "= NkB"
    assert [b.block_kib for b in normal.buckets] == [4, 8, 16]
    assert dma32.total_kib == 77452
    assert event.memory.page_size_kib == 4


def test_page_size_from_64k_buddy_blocks() -> None:
    event = _event(HEADER, "Node 0 DMA: 2*64kB (U) 1*128kB (M) = 256kB")
    assert event.memory.page_size_kib == 64


def test_hugepages_pagecache_swap_cache_and_stats() -> None:
    event = _event(
        HEADER,
        "Node 0 hugepages_total=512 hugepages_free=500 hugepages_surp=1 hugepages_size=2048kB",
        "100592 total pagecache pages",
        "1323 pages in swap cache",
        "Swap cache stats: add 1919969, delete 1918646, find 72763/93573",
    )
    (pool,) = event.memory.hugepages
    assert (pool.node, pool.total, pool.free, pool.surplus, pool.size_kib, pool.line) == (
        0,
        512,
        500,
        1,
        2048,
        101,
    )
    assert event.memory.pagecache_pages == 100592
    assert event.memory.swap_cache_pages == 1323
    assert dict(event.memory.swap_cache_stats) == {
        "add": 1919969,
        "delete": 1918646,
        "find": 72763,
        "find_total": 93573,
    }


def test_ram_summary_variants() -> None:
    modern = _event(
        HEADER,
        "8373432 pages RAM",
        "0 pages HighMem/MovableOnly",
        "166529 pages reserved",
        "0 pages cma reserved",
        "0 pages hwpoisoned",
    ).memory.ram
    assert modern is not None
    assert (modern.ram_pages, modern.highmem_pages, modern.reserved_pages) == (8373432, 0, 166529)
    assert (modern.cma_reserved_pages, modern.hwpoisoned_pages) == (0, 0)
    assert (modern.first_line, modern.last_line) == (101, 105)
    arch = _event(
        HEADER,
        "65536 pages of RAM",
        "547 free pages",
        "2170 reserved pages",
        "446 slab pages",
        "428 pages shared",
        "0 pages swap cached",
    ).memory.ram
    assert arch is not None
    assert (arch.ram_pages, arch.free_pages, arch.reserved_pages, arch.slab_pages) == (
        65536,
        547,
        2170,
        446,
    )
    assert (arch.shared_pages, arch.swap_cached_pages) == (428, 0)
    old = _event(
        HEADER,
        "458464 pages RAM",
        "232178 pages HighMem",
        "7942 pages reserved",
        "3657 pages shared",
        "436254 pages non-shared",
        "12 pages in pagetable cache",
    ).memory.ram
    assert old is not None
    assert (old.highmem_pages, old.non_shared_pages, old.pagetable_cache_pages) == (
        232178,
        436254,
        12,
    )


def test_slab_table_long_names_and_absence() -> None:
    event = _event(
        HEADER,
        "Unreclaimable slab info:",
        "Name                      Used          Total",
        "kmalloc-2k              5916KB       5952KB",
        "a_very_long_slab_cache_name_here 12KB 16KB",
    )
    slab = event.memory.slab
    assert slab is not None
    assert [(s.name, s.used_kib, s.total_kib) for s in slab] == [
        ("kmalloc-2k", 5916, 5952),
        ("a_very_long_slab_cache_name_here", 12, 16),
    ]
    assert _event(HEADER).memory.slab is None
    assert _event(
        HEADER, "excessive unreclaimable slab but cannot dump stats"
    ).memory.slab_excessive


def test_allocation_profile_sizes_in_bytes() -> None:
    event = _event(
        HEADER,
        "Memory allocations (profiling is currently turned on):",
        "    1.21 GiB   237476 mm/readahead.c:189 func:ractl_alloc_folio",
        "     143 MiB   133249 fs/ext4/super.c:1389 [ext4] func:ext4_alloc_inode",
    )
    first, second = event.memory.allocation_profile
    assert first.size_bytes == round(1.21 * 2**30)
    assert (first.calls, first.location, first.function, first.module) == (
        237476,
        "mm/readahead.c:189",
        "ractl_alloc_folio",
        None,
    )
    assert second.size_bytes == 143 * 2**20
    assert second.module == "ext4"


def test_call_trace_x86_forms_markers_and_registers() -> None:
    event = _event(
        HEADER,
        "CPU: 2 PID: 8961 Comm: java Tainted: P           O       6.1.106-Unraid #1",
        "Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.14.0-2 04/01/2014",
        "Call Trace:",
        "<TASK>",
        "dump_stack_lvl+0x44/0x5c",
        "? out_of_memory+0x1a1/0x4e0 [kernel]",
        "ext4_filemap_fault+0x36/0x50 [ext4 40df44e07c05479f7a6e7b90fba9f0e0031a7814]",
        "RIP: 0033:0x7f47eba4197e",
        "</TASK>",
    )
    trace = event.call_trace
    assert trace is not None
    first, second, third = trace.frames
    assert (first.function, first.offset, first.size, first.reliable) == (
        "dump_stack_lvl",
        0x44,
        0x5C,
        True,
    )
    assert (second.function, second.reliable, second.module) == ("out_of_memory", False, "kernel")
    assert third.module == "ext4"
    assert trace.markers == ("<TASK>", "</TASK>")
    assert trace.registers == ("RIP: 0033:0x7f47eba4197e",)
    assert (trace.first_line, trace.last_line) == (103, 109)
    assert event.tainted == "P           O"
    assert event.taint_printed
    assert event.hardware == "QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.14.0-2 04/01/2014"


def test_call_trace_old_addresses_and_not_tainted() -> None:
    event = _event(
        HEADER,
        "Pid: 4917, comm: java Not tainted 2.6.32-279.19.1.el6.x86_64 #1",
        "Call Trace:",
        " [<ffffffff810c29e1>] ? cpuset_print_task_mems_allowed+0x91/0xb0",
        " [<ffffffffa018f016>] ext4_filemap_fault+0x36/0x50 [ext4]",
    )
    trace = event.call_trace
    assert trace is not None
    first, second = trace.frames
    assert (first.address, first.reliable, first.function) == (
        "ffffffff810c29e1",
        False,
        "cpuset_print_task_mems_allowed",
    )
    assert (second.module, second.reliable) == ("ext4", True)
    assert event.taint_printed and event.tainted is None


def test_arm32_frames_follow_callers_across_wrapped_lines() -> None:
    event = _event(
        HEADER,
        "[<c0111640>] (unwind_backtrace) from [<c010ba84>] (show_stack+0x10/0x14)",
        "[<c010ba84>] (show_stack) from [<c0f38aa4>] (dump_stack_lvl+0x58/0x70)",
        "[<c03129ec>] (dump_stack_lvl) from",
        "[<c031331c>] (dump_header+0x3c/0x5c)",
    )
    trace = event.call_trace
    assert trace is not None
    assert [(f.function, f.offset, f.address) for f in trace.frames] == [
        ("unwind_backtrace", None, "c0111640"),
        ("show_stack", 0x10, "c010ba84"),
        ("dump_stack_lvl", 0x58, "c0f38aa4"),
        ("dump_header", 0x3C, "c031331c"),
    ]
    assert event.taint_printed is False


def test_memcg_protection_line_6_19() -> None:
    event = _event(
        "stress invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
        "Memory cgroup min protection 1024kB -- low protection 2048kB",
    )
    assert event.memcg is not None
    assert (event.memcg.min_protection_kib, event.memcg.low_protection_kib) == (1024, 2048)
    # the line alone does not make it a memcg OOM (nor does a header say it is global)
    assert event.constraint != "CONSTRAINT_MEMCG"


def test_lowmem_reserve_without_zone_is_unparsed() -> None:
    event = _event(HEADER, "lowmem_reserve[]: 0 0 0 0")
    assert event.unparsed == (101,)


def test_old_per_cpu_hot_cold_rows() -> None:
    event = _event(
        HEADER,
        "Node 0 Normal per-cpu:",
        "cpu 0 hot: high 186, batch 31 used:77",
        "cpu 0 cold: high 62, batch 15 used:12",
    )
    hot, cold = event.memory.per_cpu
    assert (hot.zone, hot.list, hot.high_pages, hot.batch_pages, hot.count_pages) == (
        "Normal",
        "hot",
        186,
        31,
        77,
    )
    assert (cold.list, cold.count_pages, cold.line) == ("cold", 12, 103)


def test_taint_legend_and_workqueue_are_kept_in_extra() -> None:
    event = _event(
        HEADER,
        "CPU: 12 UID: 0 PID: 1 Comm: kworker/12:1 Tainted: P O 6.18.52 #1-NixOS",
        "Tainted: [P]=PROPRIETARY_MODULE, [O]=OOT_MODULE",
        "Workqueue: events moom_callback",
    )
    extra = dict(event.extra)
    assert extra["taint_legend"] == "[P]=PROPRIETARY_MODULE, [O]=OOT_MODULE"
    assert extra["workqueue"] == "events moom_callback"
    assert event.tainted == "P O"
