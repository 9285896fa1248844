import type { DescEnum, DescEnumValue, DescField, DescFile, DescMessage, DescMethod, DescService } from '@bufbuild/protobuf';

type Commented = DescMessage | DescField | DescEnum | DescEnumValue | DescService | DescMethod;

const indexes = new WeakMap<DescFile, Map<string, string>>();

/**
 * The leading comment of a declaration, from its file's source info (present in a
 * protoc plugin's request, absent from descriptors embedded in generated code), with
 * the one space after `//` removed. Undefined when there is none.
 */
export function leadingComment(desc: Commented): string | undefined {
  const file = fileOf(desc);
  let index = indexes.get(file);
  if (index === undefined) {
    index = new Map();
    for (const loc of file.proto.sourceCodeInfo?.location ?? []) {
      if (loc.leadingComments) index.set(loc.path.join('.'), loc.leadingComments);
    }
    indexes.set(file, index);
  }
  const raw = index.get(pathOf(desc).join('.'));
  if (raw === undefined) return undefined;
  const text = raw.split('\n').map((l) => l.replace(/^ /, '').trimEnd()).join('\n').trim();
  return text === '' ? undefined : text;
}

function fileOf(desc: Commented): DescFile {
  switch (desc.kind) {
    case 'field':
    case 'enum_value':
    case 'rpc':
      return desc.parent.file;
    default:
      return desc.file;
  }
}

/** The SourceCodeInfo path of a declaration (field numbers of descriptor.proto and indexes). */
function pathOf(desc: Commented): number[] {
  switch (desc.kind) {
    case 'message':
      return desc.parent
        ? [...pathOf(desc.parent), 3, desc.parent.proto.nestedType.indexOf(desc.proto)]
        : [4, desc.file.proto.messageType.indexOf(desc.proto)];
    case 'enum':
      return desc.parent
        ? [...pathOf(desc.parent), 4, desc.parent.proto.enumType.indexOf(desc.proto)]
        : [5, desc.file.proto.enumType.indexOf(desc.proto)];
    case 'field':
      return [...pathOf(desc.parent), 2, desc.parent.proto.field.indexOf(desc.proto)];
    case 'enum_value':
      return [...pathOf(desc.parent), 2, desc.parent.proto.value.indexOf(desc.proto)];
    case 'service':
      return [6, desc.file.proto.service.indexOf(desc.proto)];
    case 'rpc':
      return [...pathOf(desc.parent), 2, desc.parent.proto.method.indexOf(desc.proto)];
  }
}
