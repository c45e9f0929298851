/** MS-VHDX v1.0 constants. Section numbers refer to [MS-VHDX]. */
import { KiB, MiB } from '../common/bytes.js';

// §2.1 file layout
export const FILE_IDENTIFIER_OFFSET = 0;
export const HEADER1_OFFSET = 64 * KiB;
export const HEADER2_OFFSET = 128 * KiB;
export const REGION_TABLE1_OFFSET = 192 * KiB;
export const REGION_TABLE2_OFFSET = 256 * KiB;
export const HEADER_AREA_SIZE = MiB;
export const HEADER_SIZE = 4 * KiB;
export const REGION_TABLE_SIZE = 64 * KiB;
export const ALIGNMENT = MiB; // §2.2.3.2: regions and blocks are 1 MiB aligned

// Signatures, as little-endian u32/u64 of their ASCII tags.
export const SIG_FILE = 'vhdxfile';
export const SIG_HEADER = 'head';
export const SIG_REGION = 'regi';
export const SIG_METADATA = 'metadata';

// §2.2.3.2 region GUIDs
export const REGION_BAT = '2dc27766-f623-4200-9d64-115e9bfd4a08';
export const REGION_METADATA = '8b7ca206-4790-4b9a-b8fe-575f050f886e';

// §2.6.2 metadata item GUIDs
export const META_FILE_PARAMETERS = 'caa16737-fa36-4d43-b3b6-33f0aa44e76b';
export const META_VIRTUAL_DISK_SIZE = '2fa54224-cd1b-4876-b211-5dbed83bf4b8';
export const META_PAGE83 = 'beca12ab-b2e6-4523-93ef-c309e000c746';
export const META_LOGICAL_SECTOR_SIZE = '8141bf1d-a96f-4709-ba47-f233a8faab5f';
export const META_PHYSICAL_SECTOR_SIZE = 'cda348c7-445d-4471-9cc9-e9885251c556';
export const META_PARENT_LOCATOR = 'a8d35f2d-b30b-454d-abf7-d3d84834ab0c';
/** §2.6.2.6: the only parent locator type, the VHDX one. */
export const PARENT_LOCATOR_TYPE_VHDX = 'b04aefb7-d19e-4a81-b789-25b8e9445913';

// §2.5.1.1 payload block states; 5 is UNMAPPED in the 0.95 draft (read as unmapped).
export const PAYLOAD_NOT_PRESENT = 0;
export const PAYLOAD_UNDEFINED = 1;
export const PAYLOAD_ZERO = 2;
export const PAYLOAD_UNMAPPED = 3;
export const PAYLOAD_UNMAPPED_V095 = 5;
export const PAYLOAD_FULLY_PRESENT = 6;
export const PAYLOAD_PARTIALLY_PRESENT = 7;
// §2.5.1.2 sector bitmap block states
export const SB_NOT_PRESENT = 0;
export const SB_PRESENT = 6;

// Limits (§2.2.2, §2.6.2): bounds that also keep hostile fields from driving allocations.
export const MIN_BLOCK_SIZE = MiB;
export const MAX_BLOCK_SIZE = 256 * MiB;
export const MAX_VIRTUAL_DISK_SIZE = 64 * 1024 * 1024 * MiB; // 64 TiB
export const MAX_REGION_ENTRIES = 2047;
export const MAX_METADATA_ENTRIES = 2047;
export const MAX_METADATA_ITEM = MiB;
/** A metadata region larger than this is refused (openvmm uses the same bound). */
export const MAX_METADATA_REGION = 128 * MiB;
/** Chunk = 2^23 sectors per sector-bitmap block (§2.5). */
export const SECTORS_PER_CHUNK = 2 ** 23;
