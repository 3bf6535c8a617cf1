import "@tanstack/react-table";

declare module "@tanstack/react-table" {
  // Column metadata the tables read: right-align numbers.
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  interface ColumnMeta<TData extends RowData, TValue> {
    numeric?: boolean;
  }
}
